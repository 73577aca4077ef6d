/**
 * The usage chart itself: @mantine/charts and recharts are loaded with this module only, when a
 * page shows a chart, never with the console's first screens.
 */
import '@mantine/charts/styles.css';
import './usage-chart.css';
import { BarChart } from '@mantine/charts';
import { bucketLabel, type UsageRow } from './usage.api';

/**
 * Tokens issued and the REST and GraphQL requests stacked in one bar per hour or day, and the
 * refusals in a bar of their own beside it. Colours are CSS variables that read at 3:1 or more against either theme's page.
 */
const SERIES = [
  { name: 'tokens', label: 'Tokens issued', color: 'var(--koios-chart-tokens)', stackId: 'requests' },
  { name: 'rest', label: 'REST requests', color: 'var(--koios-chart-rest)', stackId: 'requests' },
  { name: 'graphql', label: 'GraphQL requests', color: 'var(--koios-chart-graphql)', stackId: 'requests' },
  { name: 'refusals', label: 'Refusals', color: 'var(--koios-chart-refusals)', stackId: 'refusals' },
];

const count = new Intl.NumberFormat();

export function UsageChart({ rows, granularity, height }: { rows: readonly UsageRow[]; granularity: 'hour' | 'day'; height: number }) {
  const data = rows.map((row) => ({ ...row, label: bucketLabel(row.start, granularity) }));
  return (
    <BarChart
      h={height}
      data={data}
      dataKey="label"
      series={SERIES}
      withLegend
      legendProps={{ verticalAlign: 'bottom', height: 40 }}
      tickLine="none"
      valueFormatter={(value) => count.format(value)}
      yAxisProps={{ allowDecimals: false, width: 48 }}
      maxBarWidth={28}
      textColor="var(--mantine-color-dimmed)"
    />
  );
}
