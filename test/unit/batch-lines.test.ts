import { batchLines, tokenize } from '../../src/core/batch-lines.js'

describe('batch line tokenizer (shell-like, no expansion)', () => {
  test.each([
    ['add mon0', ['add', 'mon0']],
    ['  add   mon0\t--down  ', ['add', 'mon0', '--down']],
    [`set mon0 --alias "ci capture"`, ['set', 'mon0', '--alias', 'ci capture']],
    [`set mon0 --alias 'it''s'`, ['set', 'mon0', '--alias', 'its']],
    [`set mon0 --alias 'a "b" $c'`, ['set', 'mon0', '--alias', 'a "b" $c']],
    [`set mon0 --alias "a \\"b\\" \\$c \\n"`, ['set', 'mon0', '--alias', 'a "b" $c \\n']],
    ['set mon0 --alias a\\ b', ['set', 'mon0', '--alias', 'a b']],
    ['set mon0 --alias ""', ['set', 'mon0', '--alias', '']],
    ['add mon0 # a comment', ['add', 'mon0']],
    ['add mon#0', ['add', 'mon#0']],
    ['# only a comment', []],
    ['', []],
  ])('%s', (line, words) => {
    expect(tokenize(line)).toEqual(words)
  })

  test.each([`add "x`, `add 'x`, 'add x\\'])('%s is refused', (line) => {
    expect(() => tokenize(line)).toThrow(/unterminated|backslash/)
  })

  test('lines keep their numbers; blanks and comments are dropped; a bad line is reported in place', () => {
    const lines = batchLines('# header\n\nadd a\n  \nadd "b\ndel a # gone\n')
    expect(lines).toEqual([
      { line: 3, text: 'add a', words: ['add', 'a'] },
      { line: 5, text: 'add "b', error: expect.any(Error) },
      { line: 6, text: 'del a # gone', words: ['del', 'a'] },
    ])
  })
})
