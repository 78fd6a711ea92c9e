// POSIX shell quoting for printed commands: what is printed, pasted into sh/bash/zsh, runs with exactly the
// same arguments. Words of safe characters stay as they are; anything else is single-quoted ('…'), a single
// quote inside written as '\''.
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One argument, quoted for a POSIX shell when it needs to be. */
export function shellQuote(arg) {
  const text = String(arg);
  if (text !== '' && SAFE.test(text)) return text;
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A command line: every argument quoted as needed, joined by spaces. */
export function formatCommand(args) {
  return args.map(shellQuote).join(' ');
}
