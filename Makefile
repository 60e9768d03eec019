# Developer shortcuts; each is the same command CI and the README use.
.PHONY: up test lint bench setup
up:
	./run up
test:
	./run test
lint:
	./run lint
bench:
	./run bench
setup:
	./run setup
