/* One intrusive doubly linked list for the whole server.
 *
 * A node (`struct sz_link`) is embedded in the object it links; `container_of`
 * gets the object back. A list head is a sentinel node: empty when it points at
 * itself. Nothing here allocates, so linking never fails. Not thread-safe: a
 * list belongs to one thread (the loop) or to whoever holds its lock.
 *
 * Idiom: SZ_LIST_FOREACH_SAFE(pos, tmp, head) { obj = container_of(pos, ...);
 * sz_list_remove(pos); } may unlink the current node while walking. */
#ifndef SZ_CORE_LIST_H
#define SZ_CORE_LIST_H

#include <stdbool.h>
#include <stddef.h>

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct sz_link {
    struct sz_link *prev, *next;
};

/* Makes head (or a node) an empty list (a node that is linked nowhere). */
static inline void sz_list_init(struct sz_link *head)
{
    head->prev = head->next = head;
}

static inline bool sz_list_empty(const struct sz_link *head)
{
    return head->next == head;
}

/* Links l (unlinked) right after pos. */
static inline void sz_list_insert_after(struct sz_link *pos, struct sz_link *l)
{
    l->prev = pos;
    l->next = pos->next;
    pos->next->prev = l;
    pos->next = l;
}

static inline void sz_list_push_back(struct sz_link *head, struct sz_link *l)
{
    sz_list_insert_after(head->prev, l);
}

static inline void sz_list_push_front(struct sz_link *head, struct sz_link *l)
{
    sz_list_insert_after(head, l);
}

/* Unlinks l and leaves it as an empty list, so removing twice is harmless. */
static inline void sz_list_remove(struct sz_link *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l->next = l;
}

/* The first node, or NULL when the list is empty. */
static inline struct sz_link *sz_list_first(const struct sz_link *head)
{
    return head->next == head ? NULL : head->next;
}

/* Moves every node of from to the end of to; from is left empty. */
static inline void sz_list_splice_back(struct sz_link *to, struct sz_link *from)
{
    if (sz_list_empty(from))
        return;
    from->next->prev = to->prev;
    to->prev->next = from->next;
    from->prev->next = to;
    to->prev = from->prev;
    sz_list_init(from);
}

#define SZ_LIST_FOREACH(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

#define SZ_LIST_FOREACH_SAFE(pos, tmp, head)                                                       \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);                               \
         (pos) = (tmp), (tmp) = (pos)->next)

#endif
