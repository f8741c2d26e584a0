// templates: what callers receive, per trigger and language. Members read and preview;
// admins write. One schema and one handler per procedure, beside this file.
import type { TRPCRouterRecord } from "@trpc/server";
import { uuidInput } from "../../pagination.ts";
import { adminProcedure, orgProcedure } from "../../trpc.ts";
import { archiveTemplate } from "./archive.handler.ts";
import { createTemplate } from "./create.handler.ts";
import { templatesCreateInput } from "./create.schema.ts";
import { getTemplate } from "./get.handler.ts";
import { listTemplates } from "./list.handler.ts";
import { templatesListInput } from "./list.schema.ts";
import { previewTemplate } from "./preview.handler.ts";
import { templatesPreviewInput } from "./preview.schema.ts";
import { updateTemplate } from "./update.handler.ts";
import { templatesUpdateInput } from "./update.schema.ts";

export const templatesRouter = {
  list: orgProcedure.input(templatesListInput).query(listTemplates),
  get: orgProcedure.input(uuidInput).query(getTemplate),
  create: adminProcedure.input(templatesCreateInput).mutation(createTemplate),
  update: adminProcedure.input(templatesUpdateInput).mutation(updateTemplate),
  archive: adminProcedure.input(uuidInput).mutation(archiveTemplate),
  preview: orgProcedure.input(templatesPreviewInput).query(previewTemplate),
} satisfies TRPCRouterRecord;
