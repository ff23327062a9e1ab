import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "highlight.js/styles/github.css";
import "./styles.css";
import { App, parseRoute } from "./App";
import { api, getToken, prefetch } from "./api";
import { warmLayout } from "./layout";

// Start the lineage request and the layout worker while React boots.
const route = parseRoute();
if (route && getToken())
  prefetch(
    api.lineageUrl(route.type, route.id, {
      upstreamDepth: route.up,
      downstreamDepth: route.down,
      nodeLimit: route.limit,
      asOf: route.asOf,
    }),
  );
warmLayout();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
