/*
 * The handlers behind cli_signals_install (see signals.h). The handler
 * does only what is safe there: nmig_interrupt_request (a flag and
 * libpq's cancel request) and one write(2) saying what happens next.
 */
#include "signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "interrupt.h"

static const int handled[] = {SIGINT, SIGTERM, SIGHUP};

static void on_signal(int signo)
{
	static const char first[] =
	    "nmig: stopping: cancelling the running migration (a second "
	    "signal ends nmig at once)\n";
	struct sigaction sa;
	size_t i;

	if (nmig_interrupt_pending()) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
			sigaction(handled[i], &sa, NULL);
		raise(signo);
		return;
	}
	nmig_interrupt_request(signo);
	if (write(STDERR_FILENO, first, sizeof(first) - 1) < 0)
		return;
}

void cli_signals_install(void)
{
	static int installed;
	struct sigaction sa;
	size_t i;

	if (installed)
		return;
	installed = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking wait returns to look at the flag. */
	sa.sa_flags = 0;
	for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaction(handled[i], &sa, NULL);
}

int cli_signals_exit_code(void)
{
	int signo = nmig_interrupt_pending();

	return 128 + (signo > 0 && signo < 64 ? signo : SIGINT);
}
