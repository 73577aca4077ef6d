/** Durations in whole days as the list filters take them (`90d`): shared by the server's checks and the console's forms. */
export const DAYS_PATTERN = '^[1-9][0-9]{0,4}d$';
const DAYS = new RegExp(DAYS_PATTERN);

/** The number of days `90d` stands for, or null when the text is not such a duration. */
export function parseDays(text: string): number | null {
  return DAYS.test(text) ? Number(text.slice(0, -1)) : null;
}

export const DAYS_MESSAGE = 'must be a number of days such as 90d (1d to 99999d)';
