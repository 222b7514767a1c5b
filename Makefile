# The checklist: each target calls the npm script of the same job.
.PHONY: test fmt lint security typecheck build start

test:
	npm test

fmt:
	npm run format

lint:
	npm run lint
	npm run typecheck

security:
	npm run security

typecheck:
	npm run typecheck

build:
	npm run build

start:
	npm start
