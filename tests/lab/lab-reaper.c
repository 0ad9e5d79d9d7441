/*
 * lab-reaper - child subreaper for one lab host.
 *
 * usage: lab-reaper PIDFILE CMD [ARG...]
 *
 * Writes its own pid to PIDFILE, marks itself PR_SET_CHILD_SUBREAPER, runs
 * CMD, then reaps every descendant that gets re-parented to it until it
 * receives SIGTERM/SIGINT.
 *
 * Why: the lab daemons (libvirtd -d, sshd) daemonize, and the qemu processes
 * libvirtd spawns are orphans too. Without a subreaper they are re-parented
 * to PID 1, which on this machine leaves zombies around for ~2 s (in a
 * container without an init it never reaps them). libvirt waits for a qemu
 * to go away with kill(pid, 0), which succeeds on a zombie, so every
 * `virsh destroy`, migration cleanup and even the capabilities probe stalls
 * until PID 1 gets to it.
 *
 * Build: cc -O2 -Wall -o lab-reaper lab-reaper.c   (lab-up does this)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_child(int sig)
{
    (void)sig; /* only there so that a blocked pause()/waitpid() wakes up */
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s PIDFILE CMD [ARG...]\n", argv[0]);
        return 2;
    }

    if (prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) != 0) {
        perror("lab-reaper: prctl(PR_SET_CHILD_SUBREAPER)");
        return 1;
    }

    FILE *pf = fopen(argv[1], "w");
    if (pf == NULL || fprintf(pf, "%ld\n", (long)getpid()) < 0 || fclose(pf) != 0) {
        perror("lab-reaper: pidfile");
        return 1;
    }

    /*
     * Block the signals we care about and only let them in inside
     * sigsuspend(): a child dying between our last waitpid() and going to
     * sleep would otherwise leave a zombie until the next signal.
     */
    sigset_t block, waitmask;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGCHLD);
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGINT);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_child;
    sigaction(SIGCHLD, &sa, NULL);

    pid_t child = fork();
    if (child < 0) {
        perror("lab-reaper: fork");
        return 1;
    }
    if (child == 0) {
        /* The command gets default dispositions and an empty mask. */
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &block, NULL);
        execvp(argv[2], argv + 2);
        perror("lab-reaper: exec");
        _exit(127);
    }

    while (!stop_requested) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ; /* reap everything that is already dead */
        if (!stop_requested)
            sigsuspend(&waitmask); /* returns after any handled signal */
    }
    return 0;
}
