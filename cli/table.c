#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "table.h"

struct table {
	size_t ncols;
	const char *const *headers;
	char **cells; /* rows * ncols, row-major */
	size_t rows, cap;
};

struct table *
table_new(size_t ncols, const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));

	if (t != NULL) {
		t->ncols = ncols;
		t->headers = headers;
	}
	return t;
}

void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->rows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

bool
table_add(struct table *t, const char *const *cells)
{
	/* One element is one row of ncols cells. */
	char **nc =
	    ips_grow(t->cells, t->rows, &t->cap, t->ncols * sizeof(*nc));

	if (nc == NULL)
		return false;
	t->cells = nc;
	for (size_t c = 0; c < t->ncols; c++) {
		char *s = strdup(cells[c] != NULL ? cells[c] : "");

		if (s == NULL) {
			while (c-- > 0)
				free(t->cells[t->rows * t->ncols + c]);
			return false;
		}
		t->cells[t->rows * t->ncols + c] = s;
	}
	t->rows++;
	return true;
}

size_t
table_rows(const struct table *t)
{
	return t->rows;
}

/* Print one row, columns padded to w[], without trailing blanks. */
static void
print_row(FILE *f, const char *const *cells, const size_t *w, size_t ncols)
{
	size_t pending = 0; /* blanks owed before the next non-empty text */

	for (size_t c = 0; c < ncols; c++) {
		size_t l = strlen(cells[c]);

		if (l > 0) {
			fprintf(f, "%*s%s", (int)pending, "", cells[c]);
			pending = 0;
		}
		pending += w[c] - l + 2;
	}
	fputc('\n', f);
}

void
table_print(const struct table *t, FILE *f)
{
	size_t *w = calloc(t->ncols, sizeof(*w));

	if (w == NULL)
		return;
	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = strlen(t->headers[c]);
		for (size_t r = 0; r < t->rows; r++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);

			if (l > w[c])
				w[c] = l;
		}
	}
	print_row(f, (const char *const *)t->headers, w, t->ncols);
	for (size_t c = 0; c < t->ncols; c++) {
		for (size_t i = 0; i < w[c]; i++)
			fputc('-', f);
		fputs(c + 1 == t->ncols ? "\n" : "  ", f);
	}
	for (size_t r = 0; r < t->rows; r++)
		print_row(f, (const char *const *)&t->cells[r * t->ncols], w,
		    t->ncols);
	free(w);
}

void
table_print_list(const struct table *t, FILE *f)
{
	size_t w = 0;

	for (size_t c = 0; c < t->ncols; c++)
		if (strlen(t->headers[c]) > w)
			w = strlen(t->headers[c]);
	for (size_t r = 0; r < t->rows; r++) {
		if (r > 0)
			fputc('\n', f);
		for (size_t c = 0; c < t->ncols; c++) {
			const char *v = t->cells[r * t->ncols + c];

			fprintf(f, "%-*s :%s%s\n", (int)w, t->headers[c],
			    *v ? " " : "", v);
		}
	}
}
