// What the schema is made of: Pulumi's component analyzer reads the TypeScript types behind
// package.json's main (index.js → index.ts), here the compiled declarations of the classes that
// index.js serves. Nothing runs this file.
export * from "../dist/components/pulumi-package/index";
