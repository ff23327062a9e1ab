import { useState } from "react";
import { api, ApiError, setToken } from "../api";

export function SignIn({ onDone }: { onDone(): void }) {
  const [token, setTok] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setToken(token.trim());
    try {
      await api.search("", "", 1);
      onDone();
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        setToken(null);
        setError(`Token rejected: ${err.message}`);
      } else onDone(); // token accepted; other errors are shown by the page
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="hw-modal-backdrop">
      <form className="hw-modal" onSubmit={submit} data-testid="signin">
        <h2>Sign in to headwater</h2>
        <p>
          Paste an API token (create one with <code>headwater token create</code>). It is kept in this browser
          tab only (session storage).
        </p>
        <input
          type="password"
          autoFocus
          placeholder="token"
          aria-label="API token"
          data-testid="signin-token"
          value={token}
          onChange={(e) => setTok(e.target.value)}
        />
        {error && <div className="hw-error">{error}</div>}
        <button type="submit" className="hw-primary" disabled={!token.trim() || busy} data-testid="signin-submit">
          Sign in
        </button>
      </form>
    </div>
  );
}
