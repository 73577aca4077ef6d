import type { Locator } from 'playwright-core';

/** The little of the page's DOM these functions use (the project's types are Node's, without the DOM). */
interface Node_ {
  readonly parentElement: Node_ | null;
}
interface Style {
  readonly color: string;
  readonly backgroundColor: string;
  readonly opacity: string;
}
type Page_ = typeof globalThis & { getComputedStyle(node: Node_): Style };

/** An element's computed opacity, as the browser has it. */
export async function opacityOf(element: Locator): Promise<string> {
  return element.evaluate((node: Node_) => (globalThis as Page_).getComputedStyle(node).opacity);
}

/**
 * The WCAG 2 contrast ratio between an element's text colour and the first opaque background
 * behind it (walking up the tree, blending translucent layers over it).
 */
export async function contrastOf(element: Locator): Promise<number> {
  return element.evaluate((node: Node_) => {
    const style = (at: Node_) => (globalThis as Page_).getComputedStyle(at);
    const parse = (value: string): number[] => {
      const parts = value.match(/[\d.]+/g)?.map(Number) ?? [0, 0, 0, 0];
      return [parts[0]!, parts[1]!, parts[2]!, parts[3] ?? 1];
    };
    const over = (top: number[], bottom: number[]): number[] => [0, 1, 2].map((i) => top[i]! * top[3]! + bottom[i]! * (1 - top[3]!)).concat(1);
    const layers: number[][] = [];
    for (let at: Node_ | null = node; at !== null; at = at.parentElement) {
      const background = parse(style(at).backgroundColor);
      if (background[3]! > 0) layers.push(background);
      if (background[3] === 1) break;
    }
    let background = [255, 255, 255, 1];
    for (const layer of layers.reverse()) background = over(layer, background);
    let opacity = 1;
    for (let up: Node_ | null = node; up !== null; up = up.parentElement) opacity *= Number(style(up).opacity);
    const color = parse(style(node).color);
    const text = over([color[0]!, color[1]!, color[2]!, color[3]! * opacity], background);
    const luminance = (rgb: number[]) =>
      [0, 1, 2]
        .map((i) => rgb[i]! / 255)
        .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
        .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i]!, 0);
    const [a, b] = [luminance(text), luminance(background)].sort((x, y) => y - x);
    return (a! + 0.05) / (b! + 0.05);
  });
}
