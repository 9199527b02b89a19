// The words of a batch line, split the way a POSIX shell splits them — without running a shell:
// blanks separate words; 'single quotes' keep everything literally; "double quotes" keep blanks and
// take \" \\ \$ \` as escapes; a backslash outside quotes escapes the next character; a word that
// starts with # starts a comment that runs to the end of the line. No expansion of any kind.

import { usageError } from './errors.js'

export function tokenize(line: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let i = 0
  while (i < line.length) {
    const c = line[i]
    if (c === ' ' || c === '\t' || c === '\r') {
      if (inWord) words.push(word)
      word = ''
      inWord = false
      i++
    } else if (c === '#' && !inWord) {
      break
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1)
      if (end < 0) throw usageError('unterminated single quote')
      word += line.slice(i + 1, end)
      inWord = true
      i = end + 1
    } else if (c === '"') {
      i++
      let closed = false
      while (i < line.length) {
        const d = line[i]
        if (d === '"') {
          closed = true
          i++
          break
        }
        if (d === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) {
          word += line[i + 1]
          i += 2
        } else {
          word += d
          i++
        }
      }
      if (!closed) throw usageError('unterminated double quote')
      inWord = true
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw usageError('a backslash at the end of the line')
      word += line[i + 1]
      inWord = true
      i += 2
    } else {
      word += c
      inWord = true
      i++
    }
  }
  if (inWord) words.push(word)
  return words
}

export interface BatchLine {
  /** 1-based line number in the input. */
  line: number
  /** The line as written (trimmed). */
  text: string
  words: string[]
}

/** Splits raw input into lines: a line that is not valid UTF-8 is kept as an Error (its text decoded lossily). */
function splitLines(input: string | Uint8Array): Array<string | { lossy: string; error: Error }> {
  if (typeof input === 'string') return input.split('\n')
  const strict = new TextDecoder('utf-8', { fatal: true })
  const lossy = new TextDecoder('utf-8')
  const lines: Array<string | { lossy: string; error: Error }> = []
  let start = 0
  for (;;) {
    const end = input.indexOf(0x0a, start)
    const bytes = input.subarray(start, end === -1 ? input.length : end)
    try {
      lines.push(strict.decode(bytes))
    } catch {
      // Never decode it lossily and run it: a name would reach the kernel with U+FFFD in place of its bytes.
      lines.push({ lossy: lossy.decode(bytes), error: new Error('not valid UTF-8') })
    }
    if (end === -1) break
    start = end + 1
  }
  return lines
}

/** The command lines of a batch input: comments and blank lines dropped, numbers kept. */
export function batchLines(
  input: string | Uint8Array,
): Array<BatchLine | { line: number; text: string; error: Error }> {
  const lines = splitLines(input)
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  const out: Array<BatchLine | { line: number; text: string; error: Error }> = []
  lines.forEach((raw, index) => {
    if (typeof raw !== 'string') {
      out.push({ line: index + 1, text: raw.lossy.trim(), error: raw.error })
      return
    }
    const text = raw.trim()
    try {
      const words = tokenize(text)
      if (words.length > 0) out.push({ line: index + 1, text, words })
    } catch (error) {
      out.push({ line: index + 1, text, error: error as Error })
    }
  })
  return out
}
