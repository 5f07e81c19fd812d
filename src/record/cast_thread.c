/* The writer thread: takes chunks of formatted recording text off a
 * queue and writes them to their files, so that a slow disk holds up
 * this thread and not the event loop that relays the sessions.
 *
 * The queue is one list for all writers, oldest first, under one mutex;
 * producers hold the mutex only to link a chunk in. The thread takes the
 * whole list at once and writes it outside the mutex.
 *
 * States: stopped (RUNNING false; chunks are written by their producer)
 * -> running (RUNNING true, STOPPING false; chunks are queued) ->
 * stopping (STOPPING true; nothing more is queued, the thread writes what
 * is left and exits) -> stopped once joined. */
#include "pimgate/record.h"

#include "cast_int.h"
#include "pimgate/err.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* the queue is no longer empty, or stop */
	struct cast_chunk *head; /* oldest first */
	struct cast_chunk **tail;
	bool running;
	bool stopping;
	pthread_t thread;
} cast_q = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .tail = &cast_q.head,
};

/* Bytes in chunks that are queued or being written. */
static atomic_size_t cast_q_bytes;
/* Chunks ever queued, and chunks written (in queue order). */
static atomic_uint_fast64_t cast_q_queued;
static atomic_uint_fast64_t cast_q_written;

/* Takes the whole queue; NULL once it is empty and stopping. */
static struct cast_chunk *
cast_thread_take(void)
{
	struct cast_chunk *list;

	pthread_mutex_lock(&cast_q.lock);
	while (cast_q.head == NULL && !cast_q.stopping)
		pthread_cond_wait(&cast_q.wake, &cast_q.lock);
	list = cast_q.head;
	cast_q.head = NULL;
	cast_q.tail = &cast_q.head;
	pthread_mutex_unlock(&cast_q.lock);
	return list;
}

static void *
cast_thread_main(void *arg)
{
	struct cast_chunk *c, *next;
	size_t n;

	while ((c = cast_thread_take()) != NULL) {
		for (; c != NULL; c = next) {
			next = c->next;
			n = c->len;
			cast_chunk_done(c);
			atomic_fetch_sub(&cast_q_bytes, n);
			atomic_fetch_add(&cast_q_written, 1);
		}
	}
	return NULL;
}

bool
cast_thread_queue(struct cast_chunk *c)
{
	bool queued = false;

	c->next = NULL;
	pthread_mutex_lock(&cast_q.lock);
	if (cast_q.running && !cast_q.stopping) {
		if (cast_q.head == NULL)
			pthread_cond_signal(&cast_q.wake);
		atomic_fetch_add(&cast_q_bytes, c->len);
		atomic_fetch_add(&cast_q_queued, 1);
		*cast_q.tail = c;
		cast_q.tail = &c->next;
		queued = true;
	}
	pthread_mutex_unlock(&cast_q.lock);
	return queued;
}

bool
cast_thread_running(void)
{
	bool running;

	pthread_mutex_lock(&cast_q.lock);
	running = cast_q.running && !cast_q.stopping;
	pthread_mutex_unlock(&cast_q.lock);
	return running;
}

size_t
cast_thread_queued(void)
{
	return atomic_load(&cast_q_bytes);
}

int
cast_writer_thread_start(void)
{
	sigset_t all, old;
	int r = PIM_OK;

	pthread_mutex_lock(&cast_q.lock);
	if (cast_q.running) {
		pthread_mutex_unlock(&cast_q.lock);
		return PIM_EINVAL;
	}

	/* Signals stay with the threads that handle them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&cast_q.thread, NULL, cast_thread_main, NULL) != 0)
		r = PIM_ERR;
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	cast_q.running = r == PIM_OK;
	pthread_mutex_unlock(&cast_q.lock);
	return r;
}

void
cast_writer_thread_stop(void)
{
	pthread_mutex_lock(&cast_q.lock);
	if (!cast_q.running || cast_q.stopping) {
		pthread_mutex_unlock(&cast_q.lock);
		return;
	}
	cast_q.stopping = true;
	pthread_cond_signal(&cast_q.wake);
	pthread_mutex_unlock(&cast_q.lock);

	pthread_join(cast_q.thread, NULL);

	pthread_mutex_lock(&cast_q.lock);
	cast_q.running = false;
	cast_q.stopping = false;
	pthread_mutex_unlock(&cast_q.lock);
}

uint64_t
cast_writer_ticket(void)
{
	return atomic_load(&cast_q_queued);
}

bool
cast_writer_reached(uint64_t ticket)
{
	return atomic_load(&cast_q_written) >= ticket;
}
