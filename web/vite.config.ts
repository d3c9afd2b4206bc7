import { defineConfig } from "vite";

// `vite build web` bundles the page into web/dist, which the service serves at `/`.
// `vite web` serves it for development, sending the API calls to a service on :8080.
export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true },
  server: {
    // The page imports the generated client code from ../src/gen.
    fs: { allow: [".."] },
    proxy: { "/reservation.ReservationService": "http://127.0.0.1:8080" },
  },
});
