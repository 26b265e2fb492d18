package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// playlistURIs returns the URIs an HLS playlist lists on its own lines (the
// variant streams of a master playlist, the segments of a media playlist),
// resolved against the playlist's URL. It is all the bench needs to find
// what to request; it is not a playlist parser for the node.
func playlistURIs(base *url.URL, body string) ([]*url.URL, error) {
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	first := true
	var uris []*url.URL
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			if strings.TrimPrefix(line, "\ufeff") != "#EXTM3U" {
				return nil, errors.New("not an HLS playlist: it does not start with #EXTM3U")
			}
			first = false
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, err := base.Parse(line)
		if err != nil {
			return nil, fmt.Errorf("playlist URI %q: %w", line, err)
		}
		uris = append(uris, u)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if first {
		return nil, errors.New("not an HLS playlist: it is empty")
	}
	return uris, nil
}
