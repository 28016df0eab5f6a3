import { ValidationPipe, type ValidationError } from "@nestjs/common";
import { badRequest } from "./problem";

/** Validates every DTO at the edge; a failure is a `validation-failed` problem listing each field. */
export function validationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => {
      const invalid = flatten(errors);
      return badRequest(
        "validation-failed",
        "The request is invalid",
        invalid.map((e) => `${e.field}: ${e.messages.join(", ")}`).join("; "),
        { errors: invalid },
      );
    },
  });
}

function flatten(errors: ValidationError[], prefix = ""): { field: string; messages: string[] }[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = e.constraints ? [{ field, messages: Object.values(e.constraints) }] : [];
    return [...own, ...flatten(e.children ?? [], field)];
  });
}
