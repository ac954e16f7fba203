/** The error table and error classes live in common/ (shared by the agent, federation/ and the emulator). */
export * from "../common/errors.js";
