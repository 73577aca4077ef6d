import { Tabs } from '@mantine/core';
import type { ReactNode } from 'react';
import { useSearchParams } from 'react-router';
import { IconHistory, IconKey, IconListDetails, IconShieldLock } from './icons';

const TABS = [
  { value: 'overview', label: 'Overview', Icon: IconListDetails },
  { value: 'roles', label: 'Roles', Icon: IconShieldLock },
  { value: 'permissions', label: 'Permissions', Icon: IconKey },
  { value: 'activity', label: 'Activity', Icon: IconHistory },
] as const;

export type DetailTab = (typeof TABS)[number]['value'];

/**
 * The tabs of an API client's and a user's page (Overview, Roles, Permissions; then
 * Activity). The open tab is `?tab=` in the URL, so a link (or Back) opens the one it names;
 * arrow keys move between tabs. A tab's panel is rendered only while it is open.
 */
export function DetailTabs({ panels }: { panels: Record<DetailTab, ReactNode> }) {
  const [params, setParams] = useSearchParams();
  const tab: DetailTab = TABS.find(({ value }) => value === params.get('tab'))?.value ?? 'overview';
  return (
    <Tabs value={tab} onChange={(value) => setParams(value === 'overview' || value === null ? {} : { tab: value }, { replace: true })} keepMounted={false}>
      <Tabs.List mb="lg">
        {TABS.map(({ value, label, Icon }) => (
          <Tabs.Tab key={value} value={value} leftSection={<Icon size={16} aria-hidden />}>
            {label}
          </Tabs.Tab>
        ))}
      </Tabs.List>
      {TABS.map(({ value }) => (
        <Tabs.Panel key={value} value={value}>
          {panels[value]}
        </Tabs.Panel>
      ))}
    </Tabs>
  );
}
