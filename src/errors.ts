/** An invalid input: the message names the input, what was wrong and what is accepted. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    problem: string,
    accepted: string
  ) {
    super(`Input "${input}": ${problem}. Accepted: ${accepted}.`)
    this.name = 'InputError'
  }
}

/** A problem with the .NET project that the user must fix in the project itself. */
export class ProjectError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ProjectError'
  }
}

/** A failure of the build engine or its setup, with the cause and fix when we recognise it. */
export class BuildError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BuildError'
  }
}
