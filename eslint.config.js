// The linter for every TypeScript and JavaScript file of the tree (npm run lint; npm test runs it).
// typescript-eslint's recommended rules; formatting is Prettier's job (eslint-config-prettier turns
// off the rules that would fight it).
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'target/',
      'packed/',
      'coverage/',
      'native/index.js',
      'native/index.d.ts',
      'native/npm/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // `_` marks a deliberately unused binding (a destructured rest, a callback's position).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['test/**/*.ts'], languageOptions: { globals: { ...globals.jest } } },
  prettier,
)
