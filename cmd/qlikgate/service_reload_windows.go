//go:build windows

package main

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// reloadService sends the service ParamChange, what sc.exe control NAME
// paramchange sends; the service reloads its configuration on receipt.
// The answer only says the request was delivered: whether the new
// configuration was taken is in the service's log.
func reloadService(name string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connecting to the service manager: %w", err)
	}
	defer func() { _ = m.Disconnect() }()
	s, err := m.OpenService(name)
	if err != nil {
		return fmt.Errorf("opening service %s: %w", name, err)
	}
	defer func() { _ = s.Close() }()
	if _, err := s.Control(svc.ParamChange); err != nil {
		if errors.Is(err, windows.ERROR_INVALID_SERVICE_CONTROL) {
			// Versions before this one accepted only Stop and Shutdown.
			return fmt.Errorf("%w (the running qlikgate predates reload: restart the service instead)", err)
		}
		return err
	}
	return nil
}
