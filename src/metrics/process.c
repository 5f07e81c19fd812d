/* The standard process_ metrics, read from /proc/self at scrape time
 * (files the kernel makes up on the spot: no disk is touched). */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "metrics_int.h"

struct metrics_proc {
	double cpu_secs;
	double start_secs;
	uint64_t vsize;
	uint64_t rss;
};

/* Seconds since the epoch at which the machine booted; 0 if unknown. */
static int64_t
metrics_boot_time(void)
{
	char line[256];
	long long bt = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "btime %lld", &bt) == 1)
			break;
	}
	fclose(f);
	return bt;
}

/* Fields of /proc/self/stat after the command name, which may itself
 * hold spaces and parentheses: the last ')' ends it. */
static int
metrics_read_stat(struct metrics_proc *m)
{
	char buf[1024], *p;
	unsigned long long utime, stime, start, vsize;
	long long rss;
	long ticks = sysconf(_SC_CLK_TCK);
	long page = sysconf(_SC_PAGESIZE);
	size_t n;
	FILE *f = fopen("/proc/self/stat", "re");

	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL || ticks <= 0 || page <= 0)
		return -1;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice threads
	 * itrealvalue starttime vsize rss */
	if (sscanf(p + 1,
		" %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d "
		"%*d %*d %*d %*d %*d %llu %llu %lld",
		&utime, &stime, &start, &vsize, &rss) != 5)
		return -1;
	m->cpu_secs = (double)(utime + stime) / (double)ticks;
	m->start_secs =
	    (double)metrics_boot_time() + (double)start / (double)ticks;
	m->vsize = vsize;
	m->rss = rss > 0 ? (uint64_t)rss * (uint64_t)page : 0;
	return 0;
}

/* Open descriptors, not counting the one that lists them. */
static int64_t
metrics_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int64_t n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n > 0 ? n - 1 : 0;
}

static void
metrics_gauge_line(struct metrics_buf *b, const char *name, const char *help,
    const char *type, const char *value)
{
	metrics_family(b, name, type, help);
	metrics_buf_printf(b, "%s %s\n", name, value);
}

void
metrics_render_process(struct metrics_buf *b)
{
	struct metrics_proc m;
	struct rlimit rl;
	char v[64];
	int64_t fds = metrics_open_fds();

	if (metrics_read_stat(&m) == 0) {
		snprintf(v, sizeof(v), "%.2f", m.cpu_secs);
		metrics_gauge_line(b, "process_cpu_seconds_total",
		    "User and system CPU time spent, in seconds.", "counter",
		    v);
		snprintf(v, sizeof(v), "%.2f", m.start_secs);
		metrics_gauge_line(b, "process_start_time_seconds",
		    "Start time of the process since the Unix epoch, in "
		    "seconds.",
		    "gauge", v);
		snprintf(v, sizeof(v), "%" PRIu64, m.vsize);
		metrics_gauge_line(b, "process_virtual_memory_bytes",
		    "Virtual memory size in bytes.", "gauge", v);
		snprintf(v, sizeof(v), "%" PRIu64, m.rss);
		metrics_gauge_line(b, "process_resident_memory_bytes",
		    "Resident memory size in bytes.", "gauge", v);
	}
	if (fds >= 0) {
		snprintf(v, sizeof(v), "%" PRId64, fds);
		metrics_gauge_line(b, "process_open_fds",
		    "Number of open file descriptors.", "gauge", v);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)rl.rlim_cur);
		metrics_gauge_line(b, "process_max_fds",
		    "Maximum number of open file descriptors.", "gauge", v);
	}
}
