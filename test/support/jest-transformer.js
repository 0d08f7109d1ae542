// Compiles our TypeScript and the ES-module-only packages (@nestjs 12) to CommonJS for jest,
// which cannot require() ES modules on Node 20. Type checking is `npm run typecheck`'s job.
const ts = require('typescript');
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');

const SELF = readFileSync(__filename);

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  allowJs: true,
  esModuleInterop: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  inlineSourceMap: true,
  inlineSources: true,
};

module.exports = {
  getCacheKey(source, filename) {
    return createHash('sha256').update(SELF).update(filename).update(source).digest('hex');
  },
  process(source, filename) {
    const code = source
      // ESM builds make their own require(); under jest the module already has one.
      .replace(/^\s*(?:const|let|var) require\s*=\s*[^;]+;/gm, '')
      .replace(/\bimport\.meta\.url\b/g, "require('node:url').pathToFileURL(__filename).href")
      .replace(/\bimport\.meta\.resolve\(/g, 'require.resolve(')
      .replace(/\bimport\.meta\.dirname\b/g, '__dirname');
    const { outputText } = ts.transpileModule(code, { fileName: filename, compilerOptions });
    return { code: outputText };
  },
};
