/** One argument, quoted for a POSIX shell when it needs to be. */
export function shellQuote(arg: string): string;
/** A command line: every argument quoted as needed, joined by spaces. */
export function formatCommand(args: readonly string[]): string;
