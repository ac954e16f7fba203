/**
 * A block of lines redrawn in place on a terminal: each draw moves the cursor back to the block's first line
 * (ANSI CPL), rewrites every line (clearing it first) and clears what the previous, longer block left below.
 * Lines must fit the terminal's width (a wrapped line would count twice); the caller cuts them.
 */

/** ESC [ n F: cursor to the start of the line n lines up. */
const up = (n: number) => (n > 0 ? `\u001b[${n}F` : "\r");
/** ESC [ 2 K: clear the whole line. */
const CLEAR_LINE = "\u001b[2K";
/** ESC [ J: clear from the cursor to the end of the screen. */
const CLEAR_BELOW = "\u001b[J";

/** Options of {@link createLiveScreen}. */
export interface LiveScreenOptions {
  /** The terminal. */
  out: { write(chunk: string): unknown };
}

/** A redrawn block: `draw` replaces what the last draw wrote; nothing else may write to `out` meanwhile. */
export interface LiveScreen {
  /** Replaces the block with these lines (each without a newline). Identical frames are not written again. */
  draw(lines: readonly string[]): void;
  /** How many lines the block has now. */
  readonly height: number;
}

export function createLiveScreen(options: LiveScreenOptions): LiveScreen {
  let height = 0;
  let last = "";
  return {
    draw(lines) {
      const body = lines.map((l) => `${CLEAR_LINE}${l}\n`).join("");
      if (body === last) return;
      // The cursor sits at the start of the line after the block: back to its first line, then over it.
      options.out.write(`${height > 0 ? up(height) : ""}${body}${CLEAR_BELOW}`);
      height = lines.length;
      last = body;
    },
    get height() {
      return height;
    },
  };
}
