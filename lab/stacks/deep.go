// A known call chain for `tracer -k` tests, in Go: main.main ->
// main.stackOuter -> main.stackMiddle -> main.stackInner, which calls
// getppid through the syscall package. Go keeps frame pointers on
// x86_64; its assembly syscall stub sets up no frame, so the frame that
// called it is the one a walk cannot see.
package main

import "syscall"

//go:noinline
func stackInner() int {
	return syscall.Getppid()
}

//go:noinline
func stackMiddle() int {
	return stackInner() + 1
}

//go:noinline
func stackOuter() int {
	return stackMiddle() + 1
}

func main() {
	if stackOuter() < 0 {
		panic("impossible")
	}
}
