/*
 * The default templates that `nmig revision` renders, compiled into the
 * binary from templates/ (see cmake/embed_templates.cmake).
 */
#ifndef NMIG_TEMPLATE_H
#define NMIG_TEMPLATE_H

extern const char nmig_template_up[];
extern const char nmig_template_down[];

#endif
