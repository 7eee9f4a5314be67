package web

import "net/http"

// home is the signed-in agent's landing page.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	a := agentOf(r.Context())
	s.render(w, http.StatusOK, "home", page{Title: "Console", Agent: &a})
}
