// The portal's entry point: the style sheet (bundled into one file by the build) and the app.

import { render } from "preact";
import { App } from "./app.tsx";
import "./styles.css";

const root = document.getElementById("app");
if (root) render(<App />, root);
