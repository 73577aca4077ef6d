import '@mantine/core/styles.css';
import './styles.css';
import { startFirstLoad } from './first-load';

// The first screen's requests and chunks start now; React and the console's code load beside them.
const first = startFirstLoad(window.location);
void import('./app').then(({ startConsole }) => startConsole(first));
