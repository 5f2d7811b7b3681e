/* A known call chain for `tracer -k` tests: main -> stack_outer ->
 * stack_middle -> stack_inner, which writes a line (through libc's
 * write) and then, with a raw `syscall` instruction, calls getppid.
 * Built with -fno-omit-frame-pointer, so every frame of this file is on
 * the frame-pointer chain; libc's own functions set up no frame, so the
 * caller of libc's write (stack_inner) is the frame a walk cannot see.
 * The process exits as soon as it is done. */
#include <unistd.h>
#include <sys/syscall.h>

__attribute__((noinline)) void stack_inner(void) {
    write(1, "deep\n", 5);
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
}

__attribute__((noinline)) void stack_middle(void) {
    stack_inner();
    __asm__ volatile("");
}

__attribute__((noinline)) void stack_outer(void) {
    stack_middle();
    __asm__ volatile("");
}

int main(void) {
    stack_outer();
    return 0;
}
