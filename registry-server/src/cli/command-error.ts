// The error a command reports as a usage or input problem (exit status 2), without a stack. A
// module of its own so that the command line can recognise it without loading the commands.

export class CommandError extends Error {
  override name = "CommandError";
}
