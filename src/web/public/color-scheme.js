// The theme's attribute before the page is painted (Mantine's ColorSchemeScript, as a file: the CSP
// runs no inline script). The page the server drew is painted before the console's code runs, and
// Mantine's colours follow this attribute: the stored choice, else the system's.
try {
  var stored = window.localStorage.getItem('mantine-color-scheme-value');
  var scheme = stored === 'light' || stored === 'dark' ? stored : window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  document.documentElement.setAttribute('data-mantine-color-scheme', scheme);
} catch {
  // No storage (a locked-down browser): Mantine sets the attribute itself once the console runs.
}
