// omprog in lockstep without rsyslog: starts PROGRAM ARGS... on pipes, waits for its start-up
// "OK", then writes the lines of FILE one at a time, each only once the previous one was
// answered with "OK", as rsyslog's omprog with confirmMessages="on" does. Prints the lines
// and the rate to stderr. What it measures is the program's own cost per message (and the
// pipe round trip), without rsyslog's share, and deterministically under callgrind.
//
//   omprog_lockstep FILE PROGRAM [ARGS...]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// Reads exactly "OK\n" from `fd`; the program must not write anything else.
static int read_ok(int fd) {
  char buf[3];
  size_t got = 0;
  while (got < sizeof buf) {
    const ssize_t n = read(fd, buf + got, sizeof buf - got);
    if (n <= 0) return 0;
    got += (size_t)n;
  }
  return memcmp(buf, "OK\n", 3) == 0;
}

static int write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n <= 0) return 0;
    data += n;
    size -= (size_t)n;
  }
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s FILE PROGRAM [ARGS...]\n", argv[0]);
    return 2;
  }
  FILE* src = fopen(argv[1], "r");
  if (src == NULL) {
    perror(argv[1]);
    return 2;
  }
  int to_child[2], from_child[2];
  if (pipe(to_child) != 0 || pipe(from_child) != 0) {
    perror("pipe");
    return 2;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 2;
  }
  if (pid == 0) {
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    close(to_child[0]);
    close(to_child[1]);
    close(from_child[0]);
    close(from_child[1]);
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  if (!read_ok(from_child[0])) {
    fprintf(stderr, "omprog_lockstep: no start-up OK\n");
    return 1;
  }
  char* line = NULL;
  size_t cap = 0;
  long count = 0;
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (ssize_t n; (n = getline(&line, &cap, src)) > 0;) {
    if (!write_all(to_child[1], line, (size_t)n) || !read_ok(from_child[0])) {
      fprintf(stderr, "omprog_lockstep: no OK for line %ld\n", count + 1);
      return 1;
    }
    ++count;
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  close(to_child[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  const double secs = (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
  fprintf(stderr, "omprog_lockstep: %ld lines in %.3f s = %.0f lines/s\n", count, secs,
          secs > 0 ? count / secs : 0.0);
  free(line);
  fclose(src);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
