// Errors caused by what the user gave us (a file, a flag, a scenario). The CLI prints their
// message as one line on stderr, without a stack trace, and exits with `exitCode`.

export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}
