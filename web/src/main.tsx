import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "highlight.js/styles/github.css";
import "./styles.css";
import { App } from "./App";
import { warmLayout } from "./layout";

warmLayout();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
