import { describe, expect, it } from 'vitest';
import { describeLookalike, lookalikeCharacters } from './lookalike.js';

describe('look-alike names', () => {
  it('marks a Latin name with a Cyrillic or Greek letter drawn like a Latin one, naming the character', () => {
    const found = lookalikeCharacters('\u0410dminClient');
    expect(found).toEqual([{ character: '\u0410', codePoint: 'U+0410', looksLike: 'A' }]);
    expect(describeLookalike(found)).toBe('“\u0410” (U+0410) looks like “A”');
    expect(lookalikeCharacters('Bill\u03bfing').map((character) => character.codePoint)).toEqual(['U+03BF']);
  });

  it('marks a name written wholly in letters that read as Latin', () => {
    expect(lookalikeCharacters('\u0430\u0440\u0435').map((character) => character.looksLike)).toEqual(['a', 'p', 'e']);
  });

  it('leaves plain Latin names, accented names and real Cyrillic, Greek or Japanese words unmarked', () => {
    for (const name of ['AdminClient', 'Zürich export', 'Экспорт счетов', 'Αθήνα', '請求書エクスポート', 'Nightly 🌙 job']) {
      expect(lookalikeCharacters(name), name).toEqual([]);
    }
  });
});
