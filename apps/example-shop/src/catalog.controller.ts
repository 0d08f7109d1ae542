import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Put,
  Res,
} from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { CatalogRepository, UnknownCategoryError } from './catalog.repository';
import { CatalogService } from './catalog.service';

const id = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'ids are 1-64 characters of [A-Za-z0-9_.:-]');
/** What `price DECIMAL(12, 2)` holds: MySQL would refuse more (a 500) or round fractions of a cent. */
const MAX_PRICE = 9999999999.99;
/** A product's categories: `categoryIds`, or one `categoryId` (the shop's first API). */
const productInput = z
  .object({
    name: z.string().min(1).max(200),
    price: z
      .number()
      .nonnegative()
      .max(MAX_PRICE, `price must be at most ${MAX_PRICE}`)
      .refine((p) => Number(p.toFixed(2)) === p, 'price has at most 2 decimals'),
    categoryIds: z.array(id).max(100).optional(),
    categoryId: id.optional(),
  })
  .refine((p) => p.categoryIds === undefined || p.categoryId === undefined, {
    message: 'give categoryIds or categoryId, not both',
  })
  .transform(({ categoryId, categoryIds, ...product }) => ({
    ...product,
    categoryIds: [...new Set(categoryIds ?? (categoryId === undefined ? [] : [categoryId]))],
  }));
const categoryInput = z.object({ name: z.string().min(1).max(200) });

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new BadRequestException(result.error.issues.map((i) => i.message));
  return result.data;
}

@Controller()
export class CatalogController {
  constructor(
    private readonly pages: CatalogService,
    private readonly catalog: CatalogRepository,
  ) {}

  @Get('products/:id')
  async product(@Param('id') productId: string, @Res({ passthrough: true }) res: Response) {
    const product = await this.pages.product(parse(id, productId));
    if (!product) throw new NotFoundException();
    res.setHeader('X-Data-Version', await this.pages.dataVersion());
    return product;
  }

  @Get('categories/:id')
  async category(@Param('id') categoryId: string) {
    const page = await this.pages.category(parse(id, categoryId));
    if (!page) throw new NotFoundException();
    return page;
  }

  /** A back-office change: the rows, and with the outbox their event, committed together. */
  @Put('products/:id')
  @HttpCode(204)
  async saveProduct(@Param('id') productId: string, @Body() body: unknown): Promise<void> {
    try {
      await this.catalog.saveProduct(parse(id, productId), parse(productInput, body));
    } catch (error) {
      if (error instanceof UnknownCategoryError) throw new BadRequestException([error.message]);
      throw error;
    }
  }

  @Put('categories/:id')
  @HttpCode(204)
  async saveCategory(@Param('id') categoryId: string, @Body() body: unknown): Promise<void> {
    await this.catalog.saveCategory(parse(id, categoryId), parse(categoryInput, body));
  }
}
