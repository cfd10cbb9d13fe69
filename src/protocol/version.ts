// The agent protocol is versioned so a control plane and an agent of different releases can tell
// whether they understand each other (DESIGN.md: "agent protocol (versioned, authenticated)").
// Bump on any incompatible change to the types in this folder.
export const protocolVersion = 1;
