// Text a hostile repository prints, in every form the runner reads as a workflow command.
export const MARK = 'pwned-by-the-repository'

export const HOSTILE_LINES = [
  `::set-output name=x::${MARK}`,
  `  ::add-mask::${MARK}`,
  `\u00a0\t::save-state name=docker-config::/tmp/${MARK}`,
  `#12 1.234 ##[set-output name=x;]${MARK}`,
  `::stop-commands::guessed-token`,
  `::error::${MARK} while the guessed token is in force`,
  `::guessed-token::`,
  `::warning title=${MARK}::${MARK}`
]

/** The lines, with a bare carriage return and a \r\n thrown in, and no newline at the end. */
export const HOSTILE = `${HOSTILE_LINES.slice(0, 4).join('\n')}\nprogress 50%\r::notice::${MARK} after a bare CR\r\n${HOSTILE_LINES.slice(4).join('\n')}\n::debug::${MARK} with no newline after it`
