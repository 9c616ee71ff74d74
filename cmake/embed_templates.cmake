# Turns templates/*.sql into a C file with one string per template, so the
# binary needs no data files at run time.
file(WRITE ${OUT} "/* generated from templates/ by cmake/embed_templates.cmake */\n")
file(APPEND ${OUT} "#include \"template.h\"\n")
foreach(name up down)
	file(READ ${SRC}/${name}.sql content HEX)
	string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," content "${content}")
	file(APPEND ${OUT} "const char nmig_template_${name}[] = {${content}0x00};\n")
endforeach()
