import { Badge, VisuallyHidden } from '@mantine/core';
import { describeLookalike, lookalikeCharacters } from '../../shared/lookalike';
import { Hint } from './later-floating';

/**
 * Marks a name that reads as a Latin name it is not (a Cyrillic “А” in “Аdmin”), naming the
 * characters, so a look-alike of another client is never taken for it. Nothing for other names.
 */
export function LookalikeBadge({ name }: { name: string }) {
  const found = lookalikeCharacters(name);
  if (found.length === 0) return null;
  const description = `This name has characters from another script that look like Latin letters: ${describeLookalike(found)}.`;
  return (
    <Hint label={description} multiline w={320} withArrow>
      <Badge color="orange" variant="light" size="sm" ml={6} style={{ verticalAlign: 'middle' }} tabIndex={0}>
        Look-alike
        <VisuallyHidden>: {description}</VisuallyHidden>
      </Badge>
    </Hint>
  );
}
