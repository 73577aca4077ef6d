import { AppShell, Avatar, Burger, Group, NavLink, Text, UnstyledButton, VisuallyHidden } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import {
  IconChartBar,
  IconChevronDown,
  IconHistory,
  IconKey,
  IconLogout,
  IconPlugConnected,
  IconSettings,
  IconShieldLock,
  IconUsers,
} from '../components/icons';
import { useEffect, useRef, type ReactNode } from 'react';
import { Link, Outlet, useLocation } from 'react-router';
import { useLaterMenu } from '../components/later-floating';
import { ThemeToggle } from '../components/theme-toggle';
import { useCan, useSession, useSignOut } from '../features/session/session';
import type { PermissionKey, Session } from '../lib/types';

interface Destination {
  readonly label: string;
  readonly to: string;
  readonly icon: ReactNode;
  /** Shown only to those holding it; System's pages are shown to everyone (the page says what is missing). */
  readonly needs?: PermissionKey;
}

const SYSTEM: Destination[] = [
  { label: 'Overview', to: '/system/overview', icon: <IconChartBar size={18} aria-hidden /> },
  { label: 'Connections', to: '/system/connections', icon: <IconPlugConnected size={18} aria-hidden /> },
];

const PEOPLE: Destination[] = [
  { label: 'Users', to: '/users', icon: <IconUsers size={18} aria-hidden />, needs: 'users:read' },
  { label: 'Roles', to: '/roles', icon: <IconShieldLock size={18} aria-hidden />, needs: 'roles:read' },
  { label: 'Audit', to: '/audit', icon: <IconHistory size={18} aria-hidden />, needs: 'audit:read' },
];

function initials(name: string): string {
  return (
    name
      .split(/[\s@.]+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((part) => part[0]!.toUpperCase())
      .join('') || '?'
  );
}

/**
 * Who is signed in, and a menu to their account and to sign out. Until the menu's code has loaded
 * (when the page is idle) the button stands alone; a click before then loads it and opens it.
 */
function AccountMenu({ user }: { readonly user: Session['user'] }) {
  const target = useRef<HTMLButtonElement>(null);
  const { parts, openAtOnce, trigger } = useLaterMenu(target);
  const signOut = useSignOut();
  const can = useCan();
  const button = (
    <UnstyledButton ref={target} px={6} py={4} {...trigger}>
      {/* Named by hidden text rather than aria-label: a label must contain the text it shows. */}
      <VisuallyHidden>Account: {user.name || user.email}</VisuallyHidden>
      <Group gap={8} wrap="nowrap" aria-hidden>
        <Avatar size={30} radius="xl" color="indigo" aria-hidden>
          {initials(user.name || user.email)}
        </Avatar>
        <Text size="sm" fw={500} visibleFrom="xs" maw={180} truncate>
          {user.name || user.email}
        </Text>
        <IconChevronDown size={14} aria-hidden />
      </Group>
    </UnstyledButton>
  );
  if (parts === undefined) return button;
  const { Menu } = parts;
  return (
    <Menu position="bottom-end" width={240} withArrow defaultOpened={openAtOnce}>
      <Menu.Target>{button}</Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>Signed in as</Menu.Label>
        <Text size="sm" px="sm" pb="xs" style={{ overflowWrap: 'anywhere' }}>
          {user.email}
        </Text>
        <Menu.Divider />
        {can('users:read') && (
          <Menu.Item component={Link} to={`/users/${user.id}`} leftSection={<IconUsers size={16} aria-hidden />}>
            Your account
          </Menu.Item>
        )}
        <Menu.Item color="red" c="var(--mantine-color-red-text)" leftSection={<IconLogout size={16} aria-hidden />} onClick={() => signOut.mutate()}>
          Sign out
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}

/** The console's frame: navigation (System › Overview and Connections, Users, Roles, Audit), the user, sign-out, theme. */
export function Layout() {
  const [opened, { toggle, close }] = useDisclosure(false);
  const { pathname } = useLocation();
  const session = useSession();
  const can = useCan();
  const user = session.data?.user;
  const here = (to: string) => pathname === to || pathname.startsWith(`${to}/`);
  const link = (item: Destination) => (
    <NavLink
      key={item.to}
      component={Link}
      to={item.to}
      label={item.label}
      leftSection={item.icon}
      active={here(item.to)}
      aria-current={here(item.to) ? 'page' : undefined}
    />
  );

  useEffect(close, [pathname, close]);

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: { base: 240, sm: 200, lg: 240 }, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding={{ base: 'sm', sm: 'md', lg: 'lg' }}
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={opened ? 'Close navigation' : 'Open navigation'} />
            <UnstyledButton component={Link} to="/system/connections" aria-label="Koios Access home">
              <Group gap={8} wrap="nowrap">
                <IconKey size={22} aria-hidden />
                <Text fw={700}>Koios Access</Text>
              </Group>
            </UnstyledButton>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <ThemeToggle />
            {user !== undefined && <AccountMenu user={user} />}
          </Group>
        </Group>
      </AppShell.Header>

      <AppShell.Navbar p="sm" aria-label="Main">
        <AppShell.Section grow style={{ overflowY: 'auto' }}>
          <NavLink label="System" leftSection={<IconSettings size={18} aria-hidden />} defaultOpened childrenOffset={28} active={false}>
            {SYSTEM.map(link)}
          </NavLink>
          {PEOPLE.filter((item) => item.needs === undefined || can(item.needs)).map(link)}
        </AppShell.Section>
      </AppShell.Navbar>

      <AppShell.Main>
        <div style={{ maxWidth: 1280, margin: '0 auto' }}>
          <Outlet />
        </div>
      </AppShell.Main>
    </AppShell>
  );
}
