export { EXIT, exitCodeOf } from './exit-codes.js';
export { buildProgram } from './program.js';
