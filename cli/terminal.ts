// What the CLI writes to a terminal: colour only where the stream is a terminal that has
// colours, which Node decides from the terminal and from NO_COLOR, NODE_DISABLE_COLORS and
// FORCE_COLOR (no-color.org); pipes, files and CI logs get plain text. Error lines all start
// with `archivist:`, one line per problem.

import { styleText } from 'node:util';

/** True when `stream` is a terminal that shows colours and the environment allows them. */
export function colorsOn(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && stream.hasColors?.() === true;
}

/** `archivist: <line>` for each line of `message`, the prefix in bold red on a colour terminal. */
export function errorLines(message: string, stream: NodeJS.WriteStream = process.stderr): string {
  const prefix = colorsOn(stream)
    ? styleText(['bold', 'red'], 'archivist:', { validateStream: false })
    : 'archivist:';
  return message
    .split('\n')
    .map((line) => `${prefix} ${line}\n`)
    .join('');
}
