// npm run build:tl: generates the TL types and codecs of the bundled layer
// (@mtcute/tl's schema) into bindings/tl/generated/, before tsc compiles them.
// The generator is TypeScript; tsx runs it without a prior build.
require('tsx/cjs/api').register();
require('../bindings/tl/generator/cli.ts').main(process.argv.slice(2));
