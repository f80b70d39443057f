import { styleText } from 'node:util';

type Style = 'red' | 'yellow' | 'green' | 'dim' | 'bold' | 'cyan';

/**
 * Colour for one stream through Node's util.styleText, which (Node ≥ 20.18, checked on 20.20) already
 * leaves text plain when the stream is not a terminal or NO_COLOR is set (and honours FORCE_COLOR).
 */
export function painter(stream: NodeJS.WriteStream = process.stderr): (style: Style, text: string) => string {
  return (style, text) => styleText(style, text, { stream });
}
