import '@mantine/notifications/styles.css';
import { Notifications } from '@mantine/notifications';

/** Where notifications appear: top centre, over the header's empty middle, never over a Save bar, a form field or the header's actions. */
export function NotificationsHost() {
  return <Notifications position="top-center" containerWidth={420} />;
}
