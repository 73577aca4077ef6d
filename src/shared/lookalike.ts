/**
 * Names that read as another name (UTS #39 confusables, the cases seen in attacks): a Latin name
 * with a Cyrillic or Greek letter that looks like a Latin one (`Аdmin` with U+0410), or a name
 * written wholly in such letters that reads as Latin (`аре`). Names are allowed to do this (real
 * names mix scripts); the console shows them marked, with the characters named, so an operator
 * never mistakes one client for another.
 */

/** Cyrillic and Greek letters that are drawn like a Latin letter, with that letter. */
const LATIN_LOOKALIKES: Readonly<Record<string, string>> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ї: 'i',
  ј: 'j',
  ԁ: 'd',
  һ: 'h',
  ԛ: 'q',
  ԝ: 'w',
  ӏ: 'l',
  А: 'A',
  В: 'B',
  Е: 'E',
  Ё: 'E',
  К: 'K',
  М: 'M',
  Н: 'H',
  О: 'O',
  Р: 'P',
  С: 'C',
  Т: 'T',
  У: 'Y',
  Х: 'X',
  Ѕ: 'S',
  І: 'I',
  Ї: 'I',
  Ј: 'J',
  Ԛ: 'Q',
  Ԝ: 'W',
  Ӏ: 'I',
  // Greek
  α: 'a',
  ο: 'o',
  ρ: 'p',
  ν: 'v',
  ι: 'i',
  κ: 'k',
  υ: 'u',
  τ: 't',
  χ: 'x',
  Α: 'A',
  Β: 'B',
  Ε: 'E',
  Ζ: 'Z',
  Η: 'H',
  Ι: 'I',
  Κ: 'K',
  Μ: 'M',
  Ν: 'N',
  Ο: 'O',
  Ρ: 'P',
  Τ: 'T',
  Υ: 'Y',
  Χ: 'X',
};

export interface LookalikeCharacter {
  readonly character: string;
  /** `U+0410`. */
  readonly codePoint: string;
  /** The Latin letter it is drawn like. */
  readonly looksLike: string;
}

const codePointOf = (character: string) => `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * The characters that make `name` read as a Latin name it is not, or an empty list. A name of
 * Cyrillic or Greek words that do not read as Latin (`Экспорт счетов`) is not marked.
 */
export function lookalikeCharacters(raw: string): LookalikeCharacter[] {
  // NFKC folds fullwidth and mathematical letters (`ａｄｍｉｎ`, `𝐚𝐝𝐦𝐢𝐧`) into the Latin ones they are.
  const name = raw.normalize('NFKC');
  const characters = [...name];
  const mimics = characters.filter((character) => character in LATIN_LOOKALIKES);
  if (mimics.length === 0) return [];
  const hasLatin = characters.some((character) => /\p{Script=Latin}/u.test(character));
  // Written wholly in letters that have Latin twins, with nothing else of their script.
  const otherLetters = characters.filter((character) => /\p{L}/u.test(character) && !(character in LATIN_LOOKALIKES) && !/\p{Script=Latin}/u.test(character));
  if (!hasLatin && otherLetters.length > 0) return [];
  const seen = new Set<string>();
  return mimics
    .filter((character) => !seen.has(character) && seen.add(character))
    .map((character) => ({ character, codePoint: codePointOf(character), looksLike: LATIN_LOOKALIKES[character]! }));
}

/** How the console names the look-alike characters, e.g. `“А” (U+0410) looks like “A”`. */
export function describeLookalike(characters: readonly LookalikeCharacter[]): string {
  return characters.map((found) => `“${found.character}” (${found.codePoint}) looks like “${found.looksLike}”`).join('; ');
}
