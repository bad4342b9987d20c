// SPDX-License-Identifier: MIT
/*
 * Objects go away when the caller's last reference goes (emul-lifetime.c):
 * fds, dup'd fds, fds inherited by a child, mappings.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "emul-internal.h"
#include "emul-test.h"

static int setup(void **state)
{
	static struct emul_test t;

	emul_test_setup(&t);
	*state = &t;
	return 0;
}

static int teardown(void **state)
{
	emul_test_teardown(*state);
	return 0;
}

/* A BTF object (its release has nothing to free) given to the caller. */
static int new_obj(struct emul_test *t, uint32_t id)
{
	struct emul_obj *o = emul_obj_new(t->e, EMUL_OBJ_BTF, "btf", NULL);
	int fd;

	assert_non_null(o);
	o->id = id;
	assert_int_equal(emul_obj_add(t->e, o), 0);
	fd = emul_obj_install(t->e, &t->caller, o, O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static bool alive(struct emul_test *t, uint32_t id)
{
	bpftime_emul__process_events(t->e);
	return emul_obj_by_id(t->e, EMUL_OBJ_BTF, id) != NULL;
}

static void test_close_releases(void **state)
{
	struct emul_test *t = *state;
	int fd = new_obj(t, 100), fd2;
	int err;

	if (bpftime_emul__event_fd(t->e) < 0)
		skip();
	assert_true(alive(t, 100));
	assert_ptr_equal(emul_obj_from_fd(t->e, &t->caller, fd, &err),
			 emul_obj_by_id(t->e, EMUL_OBJ_BTF, 100));
	fd2 = dup(fd);
	close(fd);
	assert_true(alive(t, 100)); /* the dup still refers to it */
	close(fd2);
	assert_false(alive(t, 100));
}

static void test_mapping_keeps_alive(void **state)
{
	struct emul_test *t = *state;
	int fd = new_obj(t, 101);
	struct emul_obj *o = emul_obj_by_id(t->e, EMUL_OBJ_BTF, 101);
	void *p;

	if (bpftime_emul__event_fd(t->e) < 0)
		skip();
	assert_int_equal(ftruncate(o->fd, 4096), 0);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	close(fd);
	assert_true(alive(t, 101));
	munmap(p, 4096);
	assert_false(alive(t, 101));
}

static void test_child_keeps_alive(void **state)
{
	struct emul_test *t = *state;
	int fd = new_obj(t, 102), go[2], status;
	pid_t pid;
	char c;

	if (bpftime_emul__event_fd(t->e) < 0)
		skip();
	assert_int_equal(pipe(go), 0);
	pid = fork();
	if (pid == 0) {
		/* holds the inherited fd until told to go */
		close(go[1]);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	close(go[0]);
	close(fd);
	assert_true(alive(t, 102));
	close(go[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_false(alive(t, 102));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_close_releases),
	    cmocka_unit_test(test_mapping_keeps_alive),
	    cmocka_unit_test(test_child_keeps_alive),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
